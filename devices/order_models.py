"""Package catalog prices, orders and purchases (owned by the packages feature)."""
