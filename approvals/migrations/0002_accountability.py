# NOTE for helper B (hardening item 7/13): this file was started by the lead with the
# Approval.upstream_notes field (hardening item 1). Add the accountability operations
# (ApiToken.issued_by, Decision/Vote snapshots) to this same file; keep this operation.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="approval",
            name="upstream_notes",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
