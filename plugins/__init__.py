"""The regulation variants that ship with Mikrogranty, each an ordinary plugin."""
