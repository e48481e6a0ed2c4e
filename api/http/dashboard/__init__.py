"""The coverage dashboard: a server-rendered page of SVG charts, with its data as JSON
and CSV (`routes.router`, included by `api.http.app.create_app`)."""
