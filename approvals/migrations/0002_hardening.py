"""The hardening changes (docs/hardening.md): notes on stored upstream values, explicit
group restriction on policies."""

from django.db import migrations, models


def restrict_policies_with_groups(apps, schema_editor):
    # Before, a policy naming groups meant "only these groups": keep that meaning.
    policy_model = apps.get_model("approvals", "ApprovalPolicy")
    policy_model.objects.filter(approver_groups__isnull=False).update(restrict_to_groups=True)


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
        migrations.AddField(
            model_name="approvalpolicy",
            name="restrict_to_groups",
            field=models.BooleanField(
                default=False,
                help_text="Off: any reviewer may decide. On: only members of the groups below.",
                verbose_name="only the listed groups may decide",
            ),
        ),
        migrations.AlterField(
            model_name="approvalpolicy",
            name="approver_groups",
            field=models.ManyToManyField(
                blank=True,
                help_text="Whose members may decide, when restricted to groups",
                to="auth.group",
            ),
        ),
        migrations.RunPython(restrict_policies_with_groups, migrations.RunPython.noop),
    ]
