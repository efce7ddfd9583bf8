from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0010_sync_mark"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChangeCounter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("value", models.BigIntegerField(default=0)),
            ],
        ),
    ]
