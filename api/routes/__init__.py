"""One module per resource; each exposes ``router``. ``api.app.ROUTE_MODULES`` lists them."""
