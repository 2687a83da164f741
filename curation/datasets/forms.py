"""The "new dataset" form: name, description, team, and where the images come from (an
upload of any number of images, sub-folders kept, or a folder on the server below an import
root this user may use), plus optional embeddings, metadata and annotation files.

The form checks everything that can be checked before anything is written: a server folder
lies below an allowed import root and is a folder; an upload has at least one image and its
relative names are safe and unique (``upload_names``). Invariant: a form that is not valid has
written nothing.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.models import Group

from curation.datasets.uploads import UploadNameError, upload_names
from curation.imports.common import IngestError, resolve_import_path
from curation.storage.roots import any_import_roots, import_roots_for_user


class DatasetCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    team = forms.ModelChoiceField(queryset=Group.objects.none(), required=False)
    source = forms.ChoiceField(
        choices=[("upload", "Upload files"), ("folder", "A folder on the server")],
        initial="upload",
        widget=forms.RadioSelect,
    )
    folder = forms.CharField(
        required=False, help_text="Absolute path below one of the server's import roots."
    )
    embeddings = forms.FileField(required=False, help_text="CSV, .npy or Parquet (optional).")
    metadata = forms.FileField(required=False, help_text="CSV or JSON Lines (optional).")
    annotations = forms.FileField(required=False, help_text="COCO JSON (optional).")
    video_every = forms.IntegerField(
        required=False, min_value=1, label="Every k-th frame", help_text="Keep every k-th frame."
    )
    video_fps = forms.FloatField(
        required=False,
        min_value=0.001,
        max_value=1000,
        label="Frames per second",
        help_text="Default: 1 frame per second of video.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team_field = self.fields["team"]
        assert isinstance(team_field, forms.ModelChoiceField)
        team_field.queryset = Group.objects.all() if user.is_staff else user.groups.all()
        self.user = user

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["images"], data["image_names"] = [], []
        if data.get("video_every") is not None and data.get("video_fps") is not None:
            self.add_error("video_fps", "Give either every k-th frame or frames per second.")
        if data.get("source") == "folder":
            self._clean_folder(data)
        elif data.get("source") == "upload":
            self._clean_upload(data)
        return data

    def _clean_upload(self, data: dict[str, Any]) -> None:
        """At least one image, each with a safe relative name (the browser's path list)."""
        images = self.files.getlist("images") if self.files else []
        if not images:
            raise forms.ValidationError("Choose at least one image to upload.")
        try:
            data["image_names"] = upload_names(images, self.files.get("relative_paths"))
        except UploadNameError as exc:
            raise forms.ValidationError(str(exc)) from exc
        data["images"] = images

    def _clean_folder(self, data: dict[str, Any]) -> None:
        """The folder must lie below an import root this user may use (and stay inside it)."""
        roots = import_roots_for_user(self.user)
        if not roots:
            raise forms.ValidationError(
                "No server folder is open to you: ask an administrator to give your team an "
                "import root, or upload files."
                if any_import_roots()
                else "Importing server folders is off: set CURATION_IMPORT_ROOTS or add an "
                "import root in the admin, or upload files."
            )
        if not data.get("folder"):
            self.add_error("folder", "Name the folder to import.")
            return
        try:
            resolved = resolve_import_path(data["folder"], roots=roots)
        except IngestError as exc:
            self.add_error("folder", str(exc))
            return
        if not resolved.is_dir():
            self.add_error("folder", f"{data['folder']} is not a folder: name the image folder.")
