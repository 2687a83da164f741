# Placeholder filled in by hand: precomputed counts / indexes for scale (issue 13)

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('curation', '0009_delete_jobs'),
    ]

    operations = []
