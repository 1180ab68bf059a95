"""Business rules of community-service, one module per area; none of them commits."""

from folio_community.service.authors import AuthorService
from folio_community.service.board import BoardService
from folio_community.service.categories import CategoryService
from folio_community.service.comments import CommentService
from folio_community.service.images import ImageService
from folio_community.service.posts import PostService
from folio_community.service.viewers import viewer_for

__all__ = [
    "AuthorService",
    "BoardService",
    "CategoryService",
    "CommentService",
    "ImageService",
    "PostService",
    "viewer_for",
]
