"""The web app: server-rendered pages and the small scripts that call the JSON API."""
