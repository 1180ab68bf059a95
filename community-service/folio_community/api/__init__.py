"""HTTP routes of community-service: parse, authorise, call the service."""

from folio_community.api import admin, categories, comments, images, posts

ROUTERS = (categories.router, posts.router, comments.router, images.router, admin.router)
