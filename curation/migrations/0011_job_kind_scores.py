# Typicality / similarity metadata computed as background jobs (issue 15, the Python client)

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('curation', '0010_scale_counts'),
    ]

    operations = [
        migrations.AlterField(
            model_name='job',
            name='kind',
            field=models.CharField(choices=[('import', 'Import'), ('delete', 'Delete'), ('scores', 'Score metadata')], default='import', max_length=16),
        ),
    ]
