"""The audit trail is append-only on PostgreSQL: a trigger refuses DELETE, and any UPDATE except
adding to `occurrences` (ActivityManager.tally) or emptying `actor_id` when that user is deleted
(the name stays in `actor_name`). A trigger binds the table's owner too, so it holds whichever
role the app connects as. TRUNCATE is left to the owner (tests flush with it)."""

from django.db import migrations

APPEND_ONLY = """
CREATE FUNCTION groups_activity_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND to_jsonb(NEW) - 'occurrences' - 'actor_id' = to_jsonb(OLD) - 'occurrences' - 'actor_id'
       AND NEW.occurrences >= OLD.occurrences
       AND (NEW.actor_id IS NULL OR NEW.actor_id = OLD.actor_id) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'groups_activity is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER groups_activity_append_only BEFORE UPDATE OR DELETE ON groups_activity
    FOR EACH ROW EXECUTE FUNCTION groups_activity_append_only();
"""

DROP = """
DROP TRIGGER groups_activity_append_only ON groups_activity;
DROP FUNCTION groups_activity_append_only();
"""


def keep_group_slugs(apps, schema_editor):
    Activity = apps.get_model("groups", "Activity")
    Group = apps.get_model("groups", "Group")
    for group in Group.objects.all():
        Activity.objects.filter(group_id=group.pk).update(group_slug=group.slug)


def make_append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, params=None)


def allow_changes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("groups", "0004_audit_trail")]

    operations = [
        migrations.RunPython(keep_group_slugs, migrations.RunPython.noop),
        migrations.RunPython(make_append_only, allow_changes),
    ]
