"""Queries of the ``community`` schema. Repositories never commit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from folio_community.models import Author, Category, Comment, Image, Post

# A provisional author row (written from a caller's own identity) is older than any event.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
BOARD_ORDER = (Post.is_pinned.desc(), Post.created_at.desc(), Post.id.desc())  # type: ignore[attr-defined, union-attr]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class CategoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> list[Category]:
        query = select(Category).order_by(Category.order, Category.id)  # type: ignore[arg-type]
        return list((await self.session.exec(query)).scalars().all())  # type: ignore[call-overload]

    async def get(self, category_id: int) -> Category | None:
        return await self.session.get(Category, category_id)

    async def by_name(self, name: str) -> Category | None:
        query = select(Category).where(Category.name == name)  # type: ignore[arg-type]
        return (await self.session.exec(query)).scalars().first()  # type: ignore[call-overload]

    async def name_taken(self, name: str, other_than: int | None = None) -> bool:
        query = select(Category.id).where(Category.name == name)  # type: ignore[arg-type, call-overload]
        if other_than is not None:
            query = query.where(Category.id != other_than)  # type: ignore[arg-type]
        return (await self.session.execute(query)).first() is not None

    async def has_posts(self, category_id: int) -> bool:
        query = select(Post.id).where(Post.category_id == category_id).limit(1)  # type: ignore[arg-type, call-overload]
        return (await self.session.execute(query)).first() is not None


class PostRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, post_id: int) -> Post | None:
        return await self.session.get(Post, post_id)

    async def page(
        self,
        visible: ColumnElement[bool],
        category_id: int,
        search: str | None,
        skip: int,
        limit: int,
    ) -> tuple[int, list[Post]]:
        where = [Post.category_id == category_id, visible]
        if search:
            pattern = f"%{_escape_like(search)}%"
            where.append(
                or_(
                    Post.title.ilike(pattern, escape="\\"),  # type: ignore[attr-defined]
                    Post.content.ilike(pattern, escape="\\"),  # type: ignore[attr-defined]
                )
            )
        total = await self.session.scalar(select(func.count()).select_from(Post).where(*where))
        rows = await self.session.exec(
            select(Post).where(*where).order_by(*BOARD_ORDER).offset(skip).limit(limit)  # type: ignore[arg-type]
        )
        return int(total or 0), list(rows.scalars().all())  # type: ignore[attr-defined]

    async def counts_by_category(self, visible: ColumnElement[bool]) -> dict[int, int]:
        query = select(Post.category_id, func.count()).where(visible).group_by(Post.category_id)  # type: ignore[call-overload]
        return {row[0]: int(row[1]) for row in (await self.session.execute(query)).all()}

    async def top_by_category(self, visible: ColumnElement[bool], per_category: int) -> list[Post]:
        rank = (
            func.row_number()
            .over(partition_by=Post.category_id, order_by=BOARD_ORDER)
            .label("rank")
        )
        ranked = select(Post.id, rank).where(visible).subquery()  # type: ignore[call-overload]
        query = (
            select(Post)
            .join(ranked, ranked.c.id == Post.id)  # type: ignore[arg-type]
            .where(ranked.c.rank <= per_category)
            .order_by(Post.category_id, *BOARD_ORDER)  # type: ignore[arg-type]
        )
        return list((await self.session.exec(query)).scalars().all())  # type: ignore[call-overload]

    async def add(self, post: Post) -> Post:
        self.session.add(post)
        await self.session.flush()
        return post

    async def delete(self, post: Post) -> None:
        await self.session.delete(post)
        await self.session.flush()

    async def count_view(self, post_id: int) -> int:
        result = await self.session.execute(
            update(Post)
            .where(Post.id == post_id)  # type: ignore[arg-type]
            .values(view_count=Post.view_count + 1)
            .returning(Post.view_count)  # type: ignore[arg-type]
            .execution_options(synchronize_session=False)
        )
        return int(result.scalar_one())

    async def anonymise(self, author_id: str) -> int:
        result = await self.session.execute(
            update(Post)
            .where(Post.author_id == author_id)  # type: ignore[arg-type]
            .values(author_id=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount  # type: ignore[attr-defined]


class CommentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, comment_id: int) -> Comment | None:
        return await self.session.get(Comment, comment_id)

    async def of_post(self, post_id: int) -> list[Comment]:
        query = (
            select(Comment)
            .where(Comment.post_id == post_id)  # type: ignore[arg-type]
            .order_by(Comment.created_at, Comment.id)  # type: ignore[arg-type]
        )
        return list((await self.session.exec(query)).scalars().all())  # type: ignore[call-overload]

    async def skeletons(self, post_ids: list[int]) -> list[Any]:
        """What visibility needs, without the text: for comment counts of many posts."""
        if not post_ids:
            return []
        query = select(
            Comment.id, Comment.post_id, Comment.parent_id, Comment.author_id, Comment.is_private
        ).where(Comment.post_id.in_(post_ids))  # type: ignore[attr-defined, call-overload]
        return list((await self.session.execute(query)).all())

    async def add(self, comment: Comment) -> Comment:
        self.session.add(comment)
        await self.session.flush()
        return comment

    async def delete(self, comment: Comment) -> None:
        await self.session.delete(comment)
        await self.session.flush()

    async def anonymise(self, author_id: str) -> int:
        result = await self.session.execute(
            update(Comment)
            .where(Comment.author_id == author_id)  # type: ignore[arg-type]
            .values(author_id=None)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount  # type: ignore[attr-defined]


class ImageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, name: str) -> Image | None:
        return await self.session.get(Image, name)

    async def existing(self, names: list[str]) -> set[str]:
        if not names:
            return set()
        query = select(Image.name).where(Image.name.in_(names))  # type: ignore[attr-defined, call-overload]
        return {row[0] for row in (await self.session.execute(query)).all()}

    async def add(self, image: Image) -> None:
        self.session.add(image)
        await self.session.flush()

    async def forget_uploader(self, uploader_id: str) -> None:
        await self.session.execute(
            update(Image)
            .where(Image.uploader_id == uploader_id)  # type: ignore[arg-type]
            .values(uploader_id=None)
            .execution_options(synchronize_session=False)
        )


class AuthorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, user_id: str, values: dict[str, Any], at: datetime) -> bool:
        """Write an event's view of a user unless a newer event already did."""
        statement = insert(Author).values(user_id=user_id, updated_at=at, **values)
        result = await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["user_id"],
                set_={**values, "updated_at": at},
                where=Author.updated_at <= at,  # type: ignore[arg-type]
            ).returning(Author.user_id)  # type: ignore[arg-type]
        )
        return result.first() is not None

    async def ensure(self, user_id: str, name: str | None) -> None:
        """A provisional row from the caller's own identity; any event overrides it."""
        await self.session.execute(
            insert(Author)
            .values(user_id=user_id, name=name, role="user", updated_at=EPOCH)
            .on_conflict_do_nothing(index_elements=["user_id"])
        )

    async def get(self, user_id: str) -> Author | None:
        return await self.session.get(Author, user_id)

    async def many(self, user_ids: set[str]) -> dict[str, Author]:
        if not user_ids:
            return {}
        query = select(Author).where(Author.user_id.in_(user_ids))  # type: ignore[attr-defined]
        return {a.user_id: a for a in (await self.session.exec(query)).scalars().all()}  # type: ignore[call-overload]

    async def delete(self, user_id: str) -> None:
        await self.session.execute(delete(Author).where(Author.user_id == user_id))  # type: ignore[arg-type]
