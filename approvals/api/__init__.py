"""The JSON API at /api/: views, caller authentication, URLs and the OpenAPI description."""
