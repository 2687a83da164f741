# Filled in by hand: durable import jobs (issue 10.8)

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('curation', '0005_import_roots'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Job',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('import', 'Import')], default='import', max_length=16)),
                ('dataset_name', models.CharField(blank=True, max_length=200)),
                ('creates_dataset', models.BooleanField(default=False, help_text='The dataset was created for this job: removed if it fails.')),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], default='queued', max_length=16)),
                ('stage', models.CharField(blank=True, max_length=64)),
                ('done', models.PositiveBigIntegerField(default=0)),
                ('total', models.PositiveBigIntegerField(default=0)),
                ('progress', models.FloatField(default=0.0, help_text='0..1')),
                ('message', models.TextField(blank=True)),
                ('error', models.TextField(blank=True)),
                ('summary', models.JSONField(blank=True, default=dict)),
                ('options', models.JSONField(blank=True, default=dict, help_text='Arguments of the import.')),
                ('cancel_requested', models.BooleanField(default=False)),
                ('task_id', models.CharField(blank=True, max_length=64)),
                ('worker_id', models.CharField(blank=True, max_length=200)),
                ('heartbeat_at', models.DateTimeField(blank=True, null=True)),
                ('staging_dir', models.CharField(blank=True, help_text='Folder below MEDIA_ROOT removed when the job ends.', max_length=300)),
                ('created', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
                ('dataset', models.ForeignKey(blank=True, help_text='Empty once the dataset is deleted (e.g. a failed import that created it).', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='jobs', to='curation.dataset')),
            ],
            options={
                'ordering': ['-created'],
                'indexes': [models.Index(fields=['dataset', '-created'], name='job_dataset_created_idx'), models.Index(fields=['status'], name='job_status_idx')],
            },
        ),
    ]
