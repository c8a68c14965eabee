"""Cloud-storage packages for staff: catalog, prices, purchases, orders, renewals, spend."""
