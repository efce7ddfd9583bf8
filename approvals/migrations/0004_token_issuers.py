"""API tokens keep their issuer's name (so deleting the account, or a token from before issuers
were recorded, is not mistaken for the command line), and votes record the token they were
cast with, as decisions do (hardening item 7)."""

import django.db.models.deletion
from django.db import migrations, models


def name_recorded_issuers(apps, schema_editor):
    # Tokens issued since 0003 have an issuer: keep their name. Older ones stay blank, read as
    # "unknown": they may have come from the admin as well as from the command line.
    token_model = apps.get_model("approvals", "ApiToken")
    for token in token_model.objects.filter(issued_by__isnull=False).select_related("issued_by"):
        token.issuer_name = token.issued_by.username
        token.save(update_fields=["issuer_name"])


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0003_accountability"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="issuer_name",
            field=models.CharField(
                blank=True, editable=False, max_length=150, verbose_name="issued by (name then)"
            ),
        ),
        migrations.AddField(
            model_name="vote",
            name="api_token",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="approvals.apitoken",
            ),
        ),
        migrations.AddField(
            model_name="vote",
            name="api_token_hint",
            field=models.CharField(blank=True, max_length=16),
        ),
        migrations.AddField(
            model_name="vote",
            name="token_issued_by",
            field=models.CharField(
                blank=True,
                help_text="Username of whoever issued the API token used, or “command line”",
                max_length=150,
                verbose_name="token issued by",
            ),
        ),
        migrations.RunPython(name_recorded_issuers, migrations.RunPython.noop),
    ]
