# Login failures for sign-in throttling (issue 10.4), written by hand.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('curation', '0006_import_jobs'),
    ]

    operations = [
        migrations.CreateModel(
            name='LoginFailure',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('username', models.CharField(db_index=True, max_length=150)),
                ('address', models.CharField(db_index=True, help_text='Client IP address.', max_length=64)),
                ('created', models.DateTimeField(db_index=True)),
            ],
            options={
                'ordering': ['-created'],
            },
        ),
    ]
