"""Help texts the admin shows for many-to-many fields."""

from __future__ import annotations

from typing import Any

from django.db.models import ManyToManyField
from django.http import HttpRequest


class NoControlKeyHint:
    """Leaves out the "Hold down Control, or Command on a Mac" that Django's admin adds to
    every multiple select: the fields named in ``filter_horizontal`` are two lists with
    arrows between them, where the hint is wrong. Mixed in before ``admin.ModelAdmin``."""

    def formfield_for_manytomany(
        self, db_field: ManyToManyField[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]
        if field is not None and db_field.name in getattr(self, "filter_horizontal", ()):
            field.help_text = db_field.help_text
        return field
