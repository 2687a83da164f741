# Filled in by hand: import roots with owners (issue 10.2)

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('curation', '0004_big_requested_n'),
    ]

    operations = [
        migrations.CreateModel(
            name='ImportRoot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('path', models.CharField(help_text='Absolute path of an existing folder on the server; imports read below it.', max_length=1024, unique=True)),
                ('name', models.CharField(help_text='A label shown to the users of the root.', max_length=200)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('group', models.ForeignKey(blank=True, help_text='Members of this team may import from the folder; empty = staff only.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='import_roots', to='auth.group')),
            ],
            options={
                'ordering': ['name', 'path'],
            },
        ),
    ]
