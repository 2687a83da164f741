# Dataset default mask and pre-selection (issue 14.2), written by hand.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('curation', '0007_login_throttle'),
    ]

    operations = [
        migrations.AddField(
            model_name='dataset',
            name='default_mask_tag',
            field=models.ForeignKey(blank=True, help_text="Samples of this tag are never selected, unless a run names another mask (set by a Lightly CSV's masked column).", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='curation.tag'),
        ),
        migrations.AddField(
            model_name='dataset',
            name='default_preselected_tag',
            field=models.ForeignKey(blank=True, help_text="Samples of this tag are selected first in every run, unless a run names another pre-selection (set by a Lightly CSV's selected column).", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='curation.tag'),
        ),
    ]
