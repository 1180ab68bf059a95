"""Limits on what one GraphQL document may ask for, checked before anything runs.

Depth, aliases and tokens are Strawberry's own validators. The cost is ours: an estimate
of how many objects the answer holds, so a query that asks for a hundred posts with
every comment tree, or the same list a hundred times under different aliases, is refused
before it costs a single upstream call. Each object costs 1 (scalars are free); a list
multiplies what is under it by its ``limit`` argument when it has one (the largest value
allowed when the limit is a variable) and by ``LIST_SIZES`` (or ``DEFAULT_LIST_SIZE``)
when it has none. Introspection costs nothing (its depth and size are bounded by the
other validators).
"""

from __future__ import annotations

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    get_named_type,
)

DEFAULT_LIST_SIZE = 10
# Lists without a ``limit``: what a typical answer holds. Pages' item lists are already
# counted by their page's ``limit``.
LIST_SIZES = {
    "PostPage.items": 1,
    "SegmentPage.segments": 1,
    "Post.comments": 10,
    "Comment.replies": 2,
    "Query.categories": 10,
}
# The largest ``limit`` each field accepts (also what a variable limit is taken to be).
MAX_LIMITS = {
    "Query.posts": 100,
    "Query.jobs": 100,
    "Query.announcements": 100,
    "Job.segments": 500,
}


def _is_list(type_: object) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


class _Coster:
    def __init__(self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode]):
        self.schema = schema
        self.fragments = fragments

    def selection(self, node: SelectionSetNode | None, parent: object, seen: frozenset) -> int:
        if node is None or not isinstance(parent, GraphQLObjectType):
            return 0
        total = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, seen)
            elif isinstance(selection, InlineFragmentNode):
                target = (
                    self.schema.get_type(selection.type_condition.name.value)
                    if selection.type_condition
                    else parent
                )
                total += self.selection(selection.selection_set, target, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:  # cycles are another rule's error
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value)
                total += self.selection(fragment.selection_set, target, seen | {name})
        return total

    def field(self, node: FieldNode, parent: GraphQLObjectType, seen: frozenset) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if not isinstance(named, GraphQLObjectType):
            return 0
        key = f"{parent.name}.{name}"
        size = 1
        limit = next((a for a in node.arguments or () if a.name.value == "limit"), None)
        if limit is not None:
            if isinstance(limit.value, IntValueNode):
                size = max(1, int(limit.value.value))
            else:
                size = MAX_LIMITS.get(key, DEFAULT_LIST_SIZE)
        elif "limit" in definition.args:
            default = definition.args["limit"].default_value
            size = default if isinstance(default, int) else DEFAULT_LIST_SIZE
        elif _is_list(definition.type):
            size = LIST_SIZES.get(key, DEFAULT_LIST_SIZE)
        return size * (1 + self.selection(node.selection_set, named, seen))


def query_cost(context: ValidationContext, operation: OperationDefinitionNode) -> int:
    fragments = {
        d.name.value: d
        for d in context.document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    root = context.schema.get_root_type(operation.operation)
    return _Coster(context.schema, fragments).selection(operation.selection_set, root, frozenset())


def cost_limit(max_cost: int) -> type[ValidationRule]:
    """A validation rule refusing operations whose estimated cost passes ``max_cost``."""

    class CostLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            for definition in context.document.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                cost = query_cost(context, definition)
                if cost > max_cost:
                    context.report_error(
                        GraphQLError(
                            f"This query would cost {cost}, more than the {max_cost} allowed: "
                            "ask for fewer items (smaller limits) or fewer nested lists.",
                            definition,
                            extensions={
                                "code": "QUERY_TOO_COSTLY",
                                "cost": cost,
                                "maxCost": max_cost,
                            },
                        )
                    )

    return CostLimit
