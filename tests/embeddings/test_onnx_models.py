"""ONNX encoders: the contract, preprocessing, exact outputs, and every refusal as one sentence."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest
from onnx import TensorProto
from PIL import Image
from tokenizers import Tokenizer

from curation.embeddings.onnx_models import (
    CLIP_MEAN,
    ImageEncoder,
    ModelError,
    Preprocess,
    TextEncoder,
    onnx_models_load,
    preprocess_image,
)
from tests.support.onnx_models import (
    WORDS,
    image_model,
    model_files,
    sidecar,
    text_model,
    text_table,
    tokenizer_json,
)


@pytest.fixture
def files(tmp_path):
    return model_files(tmp_path)


def test_image_vectors_equal_onnxruntime_on_the_same_pixels(files) -> None:
    encoder = ImageEncoder(files["image"])
    images = [Image.new("RGB", (50, 40), c) for c in [(200, 0, 0), (0, 0, 200), (10, 90, 30)]]
    pixels = np.stack([preprocess_image(i, encoder.preprocess) for i in images])
    raw = onnxruntime.InferenceSession(str(files["image"])).run(None, {"pixels": pixels})[0]
    expected = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    np.testing.assert_allclose(encoder.encode_images(images), expected, rtol=1e-6, atol=1e-6)
    assert encoder.dimension == 8 and encoder.provider == "CPUExecutionProvider"


def test_without_a_sidecar_the_input_shape_and_clip_statistics_are_used_and_said(files) -> None:
    prep = ImageEncoder(files["image"]).preprocess
    assert (prep.height, prep.width, prep.mean, prep.resize) == (32, 32, CLIP_MEAN, "shortest_edge")
    assert prep.notes == (
        "no sidecar image.json",
        "image size 32x32 from the model's input shape",
        "CLIP's mean and std",
    )


def test_a_dynamic_input_size_defaults_to_224_and_says_so(tmp_path) -> None:
    prep = ImageEncoder(image_model(tmp_path / "dyn.onnx", size="S")).preprocess
    assert (prep.height, prep.width) == (224, 224)
    assert "the input size is dynamic: images are resized to 224x224" in prep.notes


def test_the_sidecar_sets_size_statistics_resize_and_raw_output(tmp_path) -> None:
    path = image_model(tmp_path / "m.onnx", size="S")
    sidecar(path, image_size=[16, 24], mean=[0.5] * 3, std=[0.25] * 3, resize="squash")
    encoder = ImageEncoder(path)
    assert encoder.preprocess == Preprocess(16, 24, (0.5,) * 3, (0.25,) * 3, "squash", True)
    assert encoder.preprocess.notes == ()
    image = Image.new("RGB", (100, 10), (255, 0, 128))
    pixels = preprocess_image(image, encoder.preprocess)
    assert pixels.shape == (3, 16, 24)
    np.testing.assert_allclose(pixels[:, 0, 0], [2.0, -2.0, (128 / 255 - 0.5) / 0.25], atol=1e-6)
    sidecar(path, normalize_output=False)
    raw = ImageEncoder(path).encode_images([image])
    assert not np.isclose(np.linalg.norm(raw), 1.0)


def test_shortest_edge_resizes_then_crops_the_centre() -> None:
    prep = Preprocess(4, 4, (0.0,) * 3, (1.0,) * 3)
    image = Image.new("RGB", (12, 4), (0, 0, 0))
    image.paste((255, 255, 255), (4, 0, 8, 4))  # a white centre third
    pixels = preprocess_image(image, prep)
    assert pixels.shape == (3, 4, 4) and pixels.min() > 0.9


def test_text_vectors_equal_a_numpy_embedding_bag(files) -> None:
    encoder = TextEncoder(files["text"], files["tokenizer"])
    vectors = encoder.encode(["Red", "a photo of blue"])
    table = text_table()
    bag = [table[WORDS.index("red")], table[[WORDS.index(w) for w in ["a", "photo", "of", "blue"]]]]
    expected = np.stack([bag[0], bag[1].mean(axis=0)])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, rtol=1e-5, atol=1e-6)


def test_a_text_model_without_attention_mask_works(tmp_path, files) -> None:
    path = text_model(tmp_path / "nomask.onnx", with_mask=False)
    assert TextEncoder(path, files["tokenizer"]).encode(["green"]).shape == (1, 8)


# ----------------------------------------------------------------------------- refusals


def test_a_file_that_is_not_onnx_is_refused_naming_it(tmp_path) -> None:
    path = tmp_path / "weights.onnx"
    path.write_bytes(b"\x00garbage")
    with pytest.raises(ModelError, match=rf"^{path}: not a usable ONNX model \("):
        ImageEncoder(path)


def test_a_missing_file_is_refused(tmp_path) -> None:
    with pytest.raises(ModelError, match="no such model file"):
        ImageEncoder(tmp_path / "nope.onnx")


def test_a_wrong_input_dtype_is_refused_listing_the_inputs(tmp_path) -> None:
    path = image_model(tmp_path / "f64.onnx", dtype=TensorProto.DOUBLE)
    with pytest.raises(ModelError) as info:
        ImageEncoder(path)
    assert str(info.value) == (
        f"{path}: an image model takes one float32 input [B, 3, H, W]; this one takes "
        "pixels float64 [B, 3, 32, 32]."
    )


def test_a_text_model_as_image_model_is_refused_for_its_rank(files) -> None:
    with pytest.raises(ModelError, match=r"takes input_ids int64 \[B, L\]; attention_mask"):
        ImageEncoder(files["text"])


def test_an_output_that_is_not_2d_is_refused(tmp_path) -> None:
    path = image_model(tmp_path / "3d.onnx", output_rank=3)
    with pytest.raises(ModelError, match=r"first output must be 2-D \[B, D\], not \[2, 1, 8\]"):
        ImageEncoder(path)


def test_nan_output_is_refused(tmp_path) -> None:
    path = image_model(tmp_path / "nan.onnx", nan=True)
    with pytest.raises(ModelError, match=f"^{path}: the model produced NaN or infinite values.$"):
        ImageEncoder(path)


def test_a_text_model_of_another_dimension_is_refused(tmp_path, files) -> None:
    other = text_model(tmp_path / "t16.onnx", dimension=16)
    with pytest.raises(ModelError) as info:
        onnx_models_load(image_model=files["image"], text_model=other, tokenizer=files["tokenizer"])
    assert str(info.value) == (
        f"{other}: the text model returns 16-d vectors but the image model image.onnx returns "
        "8-d ones; they must match."
    )


def test_a_tokenizer_that_does_not_load_is_refused(tmp_path, files) -> None:
    bad = tmp_path / "tokenizer-bad.json"
    bad.write_text('{"version": "1.0", "model": 3}', encoding="utf-8")
    with pytest.raises(ModelError, match=f"^{bad}: not a Hugging Face tokenizer.json that loads"):
        onnx_models_load(image_model=files["image"], text_model=files["text"], tokenizer=bad)


def test_a_text_model_with_float_ids_is_refused(tmp_path, files) -> None:
    path = text_model(tmp_path / "fids.onnx", with_mask=False, dtype=TensorProto.FLOAT)
    with pytest.raises(ModelError, match=r"takes int64 input_ids \[B, L\].*input_ids float32"):
        TextEncoder(path, files["tokenizer"])


@pytest.mark.parametrize(
    "values,message",
    [
        ({"resize": "stretch"}, '\'resize\' must be "shortest_edge" or "squash"'),
        ({"mean": [1, 2]}, "'mean' must be a list of three numbers"),
        ({"std": [1, 0, 1]}, "every 'std' value must be above 0"),
        ({"image_size": 48}, r"image_size \[48, 48\] differs from the model's input 32x32"),
        ({"colour": "rgb"}, "unknown sidecar key 'colour'"),
    ],
)
def test_a_bad_sidecar_is_refused_naming_it(tmp_path, values, message) -> None:
    path = image_model(tmp_path / "m.onnx")
    written = sidecar(path, **values)
    with pytest.raises(ModelError, match=f"^{written}: {message}"):
        ImageEncoder(path)


def test_a_text_model_needs_its_tokenizer(files) -> None:
    with pytest.raises(ModelError, match="add --tokenizer"):
        onnx_models_load(image_model=files["image"], text_model=files["text"])


def test_tokenizer_helper_round_trips(tmp_path) -> None:
    tok = Tokenizer.from_file(str(tokenizer_json(tmp_path / "t.json")))
    assert tok.encode("red photo").ids == [WORDS.index("red"), WORDS.index("photo")]
