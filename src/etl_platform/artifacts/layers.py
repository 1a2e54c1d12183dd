"""The platform's layers: one per language, each a folder under ``layers/``.

=========  =====================  ===================  ====================================
language   folder (``layers/``)   layer name           shared stack export
=========  =====================  ===================  ====================================
python     ``etl-common``         layer-etl-common-*   ``layerArn``
nodejs     ``etl-node``           layer-etl-node-*     ``nodeLayerArn`` (only with a Node
                                                       function in the catalog)
=========  =====================  ===================  ====================================

A function carries its language's layer and nothing else; its own zip holds only its
own files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from etl_platform.model.contract import SharedExports
from etl_platform.model.runtimes import NODEJS, PYTHON
from etl_platform.paths import LAYERS_DIR

__all__ = ["PLATFORM_LAYERS", "PlatformLayer", "layer_dir", "layer_export", "layer_folder"]


@dataclass(frozen=True)
class PlatformLayer:
    language: str
    folder: str  # under layers/; also the layer's name: layer-<folder>-<suffix>
    export: str  # the shared stack's export carrying its ARN


PLATFORM_LAYERS: dict[str, PlatformLayer] = {
    PYTHON: PlatformLayer(PYTHON, "etl-common", SharedExports.LAYER_ARN),
    NODEJS: PlatformLayer(NODEJS, "etl-node", SharedExports.NODE_LAYER_ARN),
}


def layer_folder(language: str) -> str:
    return PLATFORM_LAYERS[language].folder


def layer_export(language: str) -> str:
    return PLATFORM_LAYERS[language].export


def layer_dir(language: str) -> Path:
    return LAYERS_DIR / PLATFORM_LAYERS[language].folder
