"""What a service's OpenAPI document says beyond what Litestar infers by itself: the API
key as a security scheme, and the command bodies as strict as the Structs that decode them.

The statuses each route can answer are declared on the routes (``services.errors``); the
rest of the document is Litestar's, generated from the handlers and the Structs."""

from __future__ import annotations

from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

import msgspec
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, Schema
from litestar.plugins import OpenAPISchemaPlugin

# Litestar's reading of a Struct field's msgspec constraints; not exported (litestar is pinned)
from litestar.plugins.core._msgspec import kwarg_definition_from_field
from litestar.types.empty import Empty
from litestar.typing import FieldDefinition

from services.auth import SECURITY_SCHEMES

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

    from services.registry import Service


class StructSchemas(OpenAPISchemaPlugin):
    """The schema of a msgspec Struct, as Litestar's own plugin makes it (this one comes
    first), and as strict as the Struct is:

    * a Struct that refuses unknown fields (``forbid_unknown_fields=True``, as every command
      body does) says so: ``additionalProperties: false``;
    * the constraints of what is inside a field — a list's items (``refs``, ``workplaces``,
      ``audience``…) — are given too: Litestar reads only a field's own."""

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        return not field_definition.is_union and field_definition.is_subclass_of(msgspec.Struct)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        hints = field_definition.get_type_hints(include_extras=True, resolve_generics=True)
        info = msgspec.inspect.type_info(field_definition.type_)
        assert isinstance(info, msgspec.inspect.StructType)
        properties = {}
        for field in info.fields:
            own, _ = kwarg_definition_from_field(field)
            properties[field.encode_name] = FieldDefinition.from_annotation(
                annotation=_items_constrained(hints[field.name]),
                name=field.encode_name,
                default=Empty if field.default in (msgspec.NODEFAULT, msgspec.UNSET) else field.default,
                **({"kwarg_definition": own} if own else {}),
            )
        required = [field.encode_name for field in info.fields if field.required]
        if info.tag_field:  # a tagged union's member: its tag is a constant
            properties[info.tag_field] = FieldDefinition.from_annotation(Literal[info.tag])  # type: ignore[misc]
            required.append(info.tag_field)
        schema = schema_creator.create_component_schema(field_definition, required=sorted(required),
                                                        property_fields=properties)
        if info.forbid_unknown_fields:
            schema.additional_properties = False
        return schema


def _items_constrained(annotation: Any) -> Any:
    """``annotation`` with the msgspec constraints of the types inside it (``list[Annotated[str,
    Meta(...)]]``) also given as Litestar's own, which Litestar reads at any depth."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:  # a field's own constraints: Litestar reads them from the Struct
        return Annotated[(_items_constrained(args[0]), *annotation.__metadata__)]
    if origin in (Union, UnionType):
        return Union[tuple(_items_constrained(arg) for arg in args)]
    if origin in (list, set, frozenset) and len(args) == 1:
        return origin[_constrained(args[0])]
    if origin is dict and len(args) == 2:
        return dict[args[0], _constrained(args[1])]  # type: ignore[valid-type]
    return annotation


def _constrained(item: Any) -> Any:
    """A type inside a field, its msgspec ``Meta`` turned into Litestar's constraints."""
    if get_origin(item) is not Annotated:
        return _items_constrained(item)
    field = msgspec.inspect.Field(name="item", encode_name="item", type=msgspec.inspect.type_info(item),
                                  required=True, default=msgspec.NODEFAULT, default_factory=msgspec.NODEFAULT)
    constraints, _ = kwarg_definition_from_field(field)
    bare = _items_constrained(get_args(item)[0])
    return Annotated[bare, constraints] if constraints else bare


def openapi_config(service: Service) -> OpenAPIConfig:
    return OpenAPIConfig(title=f"coalition {service.name}", version="1.0.0", description=service.title,
                         components=Components(security_schemes=dict(SECURITY_SCHEMES)))


#: Given to the app's ``plugins``: ahead of Litestar's own Struct plugin.
PLUGINS = [StructSchemas()]
