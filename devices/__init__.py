"""Products, devices, grants, the package catalog and orders."""
