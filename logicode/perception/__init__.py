"""Perception: turn an inspection image into a :class:`~logicode.scene.Scene`.

The front end is three pluggable stages (see :mod:`logicode.perception.base`):

* a **segmenter** proposes regions (masks) that may be components;
* a **labeler** names each region with a label of the category's vocabulary (or drops it);
* an **attribute estimator** fills the per-label attributes the category spec declares.

Every stage learns what it knows about a product from a handful of *reference* images with
component annotations (LabelMe, COCO or scene JSON; see :mod:`logicode.perception.refs`)
and from the category spec. No stage holds product knowledge in code. The defaults are
classical and CPU-only (no model weights): a per-pixel colour/texture classifier learned
from the references (:mod:`logicode.perception.segment`), nearest-prototype naming on
colour, shape and size (:mod:`logicode.perception.label`) and attribute estimation from the
references' attribute values (:mod:`logicode.perception.attributes`). Optional adapters for
SAM (:mod:`logicode.perception.sam`) and open_clip (:mod:`logicode.perception.clip`) import
their packages lazily and take user checkpoints.

Entry point: :class:`logicode.perception.pipeline.Perception`.
"""
