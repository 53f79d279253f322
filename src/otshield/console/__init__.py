"""The console: ``otshield serve`` (FastAPI) with the REST API, the web pages, users with
multi-factor authentication, roles and the audit log, over the store in :mod:`otshield.store`."""
