# Filled in by hand: dataset deletion as a background job (issue 13)

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('curation', '0008_dataset_selection_defaults'),
    ]

    operations = [
        migrations.AddField(
            model_name='dataset',
            name='deleting',
            field=models.BooleanField(default=False, help_text='A delete job is removing this dataset: hidden from lists, no new work.'),
        ),
        migrations.AlterField(
            model_name='job',
            name='kind',
            field=models.CharField(choices=[('import', 'Import'), ('delete', 'Delete')], default='import', max_length=16),
        ),
    ]
