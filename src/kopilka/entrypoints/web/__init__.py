"""The web pages: the staff console (/console) and the member's own page (/me).

Server-rendered HTML (Jinja2) with htmx for partial updates; every front-end asset is vendored
under static/vendor. See docs/ARCHITECTURE.md ("Web pages").
"""
