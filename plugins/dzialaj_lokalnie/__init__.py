"""The ``dzialaj_lokalnie`` regulation variant: Działaj Lokalnie, run by a local grant centre."""
