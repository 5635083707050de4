"""A Streamlit page to try the detector on photos and short clips: run it with `facemask app`.

Why it is built this way:
- Models load once per setting through `st.cache_resource` (a few settings kept); the
  detector and the classifier are cached apart, so moving the mask threshold does not
  reload the face detector.
- Streamlit reruns the whole script on every click, so results are kept in `st.session_state`
  keyed by the uploads and the settings; a download click never reprocesses a clip.
- The cached models are shared by every browser tab, and a LiteRT interpreter is not
  thread-safe, so each model call (one detection, one classifier batch) runs under one cached
  lock. It is taken per call, not per clip, so a photo in a second tab waits for one frame,
  not for a whole clip.
- Photos and clips run through the CLI's pipeline (builder.build_pipeline) around the cached
  models: photo.py and clip.py, which hold no Streamlit code.
- Photos are checked against the pixel budget from their header before decoding
  (`imageio.decode_image`), so a small PNG declaring 30000x30000 is refused, not decoded.
- Bad uploads (not an image, corrupt, too big) become `st.error` lines and the page goes on.
- FACEMASK_APP_MODEL (a model path) is offered first, for tests and for models under trial.
- Streamlit renders its text as Markdown, so every string the user had a hand in (an upload's
  name, an error naming it) is shown through `plain()` (text.py): `[click](https://evil.example).jpg`
  reads as itself, never as a live link or a remote image.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Hashable

import streamlit as st

from facemask.app.clip import ClipResult, process_clip
from facemask.app.photo import PhotoResult, checked_bytes, face_rows, process_photos
from facemask.app.settings import MODEL_ENV, Settings, model_choices
from facemask.app.text import own_svg, plain
from facemask.classification.card import own_threshold
from facemask.classification.classifier import MaskClassifier
from facemask.cli.app import MAX_MB_ENV, upload_limit_mb
from facemask.core.config import ClassifierConfig, DetectorConfig
from facemask.core.errors import FacemaskError
from facemask.core.labels import compliance_text
from facemask.core.options import RunOptions, pipeline_config
from facemask.detection.loader import Detector, load_face_detector
from facemask.pipeline.analyzer import FaceMaskAnalyzer
from facemask.pipeline.builder import build_pipeline
from facemask.sinks.images import results_document

PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "bmp"]
CLIP_TYPES = ["mp4", "avi", "mov", "mkv", "m4v", "webm"]
MAX_SNAPSHOTS = 8


@st.cache_resource(show_spinner="Loading the face detector...", max_entries=4)
def load_detector(confidence: float, mode: str) -> Detector:
    return load_face_detector(DetectorConfig(confidence=confidence, mode=mode))


@st.cache_resource(show_spinner="Loading the mask classifier...", max_entries=4)
def load_classifier(model: str, threshold: float) -> MaskClassifier:
    return MaskClassifier(ClassifierConfig(model=model, threshold=threshold))


@st.cache_resource
def inference_lock() -> threading.Lock:
    return threading.Lock()


class Locked:
    """A shared model whose inference calls each take the lock; everything else passes through."""

    CALLS = frozenset({"detect", "classify", "classify_many", "predict_crops", "read_crops"})

    def __init__(self, inner, lock: threading.Lock) -> None:
        self._inner, self._lock = inner, lock

    def __getattr__(self, name: str):
        value = getattr(self._inner, name)
        if name not in self.CALLS:
            return value

        def locked(*args, **kwargs):
            with self._lock:
                return value(*args, **kwargs)

        return locked


def analyzer_for(settings: Settings, mode: str) -> FaceMaskAnalyzer:
    """`accurate` detection for photos (small faces), `fast` for clips (every frame counts)."""
    lock = inference_lock()
    detector = Locked(load_detector(settings.face_confidence, mode), lock)
    return FaceMaskAnalyzer(detector, Locked(load_classifier(settings.model, settings.mask_threshold), lock))


def sidebar() -> Settings:
    """Settings from the sidebar; stops the page with a message when they cannot be used."""
    bar = st.sidebar
    bar.header("Settings")
    model = bar.selectbox(
        "Mask model",
        model_choices(),
        help=f"`default` (resnet50, lite and lite128, averaged), `resnet50` or `lite`; {plain(MODEL_ENV)} adds a path",
    )
    try:
        card_threshold = min(0.99, max(0.01, own_threshold(model)))
        limit = upload_limit_mb()
    except FacemaskError as exc:
        st.error(f"{plain(exc)}. Pick another model in the sidebar, or see `facemask train`.")
        st.stop()
    face_conf = bar.slider("Face confidence", 0.05, 0.95, 0.5, 0.05, help="Minimum detector score for a face")
    threshold = bar.slider(  # the card's exact value until moved, so the page agrees with the CLI
        "Mask threshold",
        0.01,
        0.99,
        card_threshold,
        0.01,
        format="%.2f",
        key=f"threshold:{model}",
        help="A face reads 'no mask' when P(no mask) is at or above this. Default: the model card's value.",
    )
    max_s = bar.number_input("Process at most (seconds of clip)", 1, 600, 30, help="Longer clips are cut")
    blur = bar.checkbox("Blur faces", False, help="Faces blurred in the annotated photos, clip and snapshots")
    bar.caption(f"Upload limit: {limit:d} MB per file (set {plain(MAX_MB_ENV)} to change).")
    return Settings(model, float(face_conf), float(threshold), limit, float(max_s), bool(blur))


def remembered(slot: str, key: Hashable, compute: Callable[[], object]) -> object:
    """The last result for `slot` if it was made from `key`, else compute and keep it (one per slot)."""
    kept = st.session_state.get(slot)
    if kept is not None and kept[0] == key:
        return kept[1]
    value = compute()
    st.session_state[slot] = (key, value)
    return value


def analyze_photos(uploads: list, settings: Settings) -> list[PhotoResult | str]:
    """One result per upload, in order: a PhotoResult, or the message saying why it failed."""
    models = analyzer_for(settings, "accurate")
    options = RunOptions(
        model=settings.model,
        mask_threshold=settings.mask_threshold,
        confidence=settings.face_confidence,
        detector_mode="accurate",
        blur=settings.blur,
    )
    config = pipeline_config(options, "image")
    pipeline = build_pipeline(config, detector=models.detector, classifier=models.classifier)
    return process_photos(uploads, pipeline, settings.max_mb)


def show_photo(result: PhotoResult, index: int, multi_class: bool = False) -> None:
    """The annotated photo beside its counts (a mask below the nose too, from a three-class model), per-face table
    and downloads."""
    st.subheader(plain(result.name))
    labels = list(result.faces.label)
    picture, details = st.columns([3, 2])
    picture.image(result.png, caption=f"{plain(result.name)}: annotated")
    with details:
        cols = st.columns(4 if multi_class else 3)
        cols[0].metric("Faces", len(labels))
        cols[1].metric("Mask", labels.count("mask"))
        cols[2].metric("No mask", labels.count("no_mask"))
        if multi_class:
            cols[3].metric("Mask below nose", labels.count("incorrect_mask"))
        if labels:
            st.table(face_rows(result.faces))
        else:
            st.info("No faces found. Try a lower face confidence in the sidebar.")
        stem = result.name.rsplit(".", 1)[0]
        left, right = st.columns(2)
        left.download_button(
            "Annotated PNG", result.png, f"{stem}_annotated.png", "image/png", key=f"png:{index}", on_click="ignore"
        )
        right.download_button(
            "Annotated JPEG", result.jpeg, f"{stem}_annotated.jpg", "image/jpeg", key=f"jpg:{index}", on_click="ignore"
        )


def photos_tab(settings: Settings) -> None:
    uploads = st.file_uploader("Photos", type=PHOTO_TYPES, accept_multiple_files=True, key="photos")
    if not uploads:
        st.caption("Upload one or more photos (JPEG, PNG, WebP) to see every face labelled.")
        return
    key = (tuple(u.file_id for u in uploads), settings)
    with st.spinner(f"Analysing {len(uploads):d} photo(s)..."):
        results = remembered("photo_results", key, lambda: analyze_photos(uploads, settings))
    multi_class = bool(analyzer_for(settings, "accurate").classifier.multi_class)
    for i, result in enumerate(results):
        if isinstance(result, str):
            st.error(plain(result))
        else:
            show_photo(result, i, multi_class)
    records = [r.record() for r in results if isinstance(r, PhotoResult)]
    if records:
        payload = json.dumps(results_document(records), indent=2).encode()
        st.download_button(
            "Results JSON",
            io.BytesIO(payload),
            "facemask_results.json",
            "application/json",
            key="json",
            on_click="ignore",
        )


def show_clip(result: ClipResult) -> None:
    """Counts on top; the annotated clip beside its events, snapshots and downloads."""
    summary = result.summary
    cols = st.columns(4)
    cols[0].metric("People", summary.get("people", 0))
    cols[1].metric("Violations", summary.get("violations", 0))
    cols[2].metric("Compliance", compliance_text(summary.get("compliance_rate")))
    cols[3].metric("Frames", result.frames, help=f"processed at {result.fps:g} frames/s")
    if result.cut:
        st.warning(f"Only the first {result.frames:d} frames were processed (see the sidebar limit).")
    video, details = st.columns([3, 2])
    video.video(result.video, format="video/webm")
    if result.timeline:  # one line, so Markdown keeps it as HTML (st.html drops SVG); own_svg vouches for it
        video.markdown(f'<div class="facemask-timeline">{own_svg(result.timeline)}</div>', unsafe_allow_html=True)
    with details:
        show_events(result)


def show_events(result: ClipResult) -> None:
    st.subheader("Events")
    if result.events:
        st.table(result.events)
        shots = list(result.snapshots.items())[:MAX_SNAPSHOTS]
        if shots:
            st.image([data for _, data in shots], caption=[f"track #{t:d}" for t, _ in shots], width=96)
    else:
        st.caption("None: nobody was seen without a mask for long enough to raise a violation.")
    stem = result.name.rsplit(".", 1)[0]
    report = json.dumps({"source": result.name, "summary": result.summary, "events": result.events}, indent=2)
    left, right = st.columns(2)
    left.download_button(
        "Annotated video (WebM)",
        result.video,
        f"{stem}_annotated.webm",
        "video/webm",
        key="clip_video",
        on_click="ignore",
    )
    right.download_button(
        "Events JSON", report.encode(), f"{stem}_events.json", "application/json", key="clip_events", on_click="ignore"
    )


def analyze_clip(upload, settings: Settings) -> ClipResult:
    """Process a clip under a progress bar; the bar goes once the clip is done."""
    data = checked_bytes(upload, settings.max_mb)
    bar = st.progress(0.0, text=f"Processing {plain(upload.name)}...")
    analyzer = analyzer_for(settings, "fast")
    try:
        return process_clip(
            upload.name,
            data,
            analyzer,
            settings.max_clip_s,
            lambda fraction, text: bar.progress(fraction, text=plain(text)),
            blur=settings.blur,
        )
    finally:
        bar.empty()


def clip_tab(settings: Settings) -> None:
    upload = st.file_uploader("Clip", type=CLIP_TYPES, key="clip")
    if upload is None:
        st.caption(
            f"Upload a short video (MP4, AVI, MOV; up to {settings.max_mb:d} MB); "
            f"the first {settings.max_clip_s:g} s are processed."
        )
        return
    try:
        result = remembered("clip_result", (upload.file_id, settings), lambda: analyze_clip(upload, settings))
    except FacemaskError as exc:
        st.error(plain(exc))
        return
    show_clip(result)


def main() -> None:
    st.set_page_config(page_title="facemask", layout="wide")
    st.title("Face-mask detector")
    settings = sidebar()
    photos, clips = st.tabs(["Photos", "Clip"])
    with photos:
        photos_tab(settings)
    with clips:
        clip_tab(settings)


if __name__ == "__main__":
    main()
