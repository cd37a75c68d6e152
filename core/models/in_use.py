"""Which generator, SAM, VGG and encoder are in use, and whether each can be loaded now.

The one answer every front end shows (the welcome page, the model manager, About,
Preferences): a choice may name a manifest id, the name of the user's own model
(`semedit models add`), a file path, or nothing (the kind's default). Usability is decided
by `ModelStore.resolve`, the call the model provider makes when it loads the model, so
what a page says and what a job then does cannot disagree. Nothing is loaded or hashed:
it reads the manifest, `user_models.json` and file sizes, cheap enough for the UI thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import SemeditError
from core.models.loaded import DEFAULT_VGG, ModelChoice
from core.models.manifest import Asset
from core.models.store import ModelStore, UserModel

# Where a model in use came from.
DEFAULT = "default"  # nothing chosen: the kind's default
CHOSEN_ID = "chosen id"  # a manifest id was chosen
CHOSEN_FILE = "chosen file"  # a file path was chosen
OWN_MODEL = "own model"  # the name of the user's own model was chosen
UNKNOWN = "unknown"  # a choice that is no id, no own model and no path

SHOWN_KINDS = ("generator", "sam", "vgg")  # what the app's pages list
NOUNS = {"generator": "generator", "sam": "Segment Anything model",
         "vgg": "VGG16 network of the LPIPS loss", "encoder": "encoder"}
# What is off while a kind has no usable file.
WITHOUT = {"generator": "photos cannot be inverted or edited",
           "sam": "click selection and the automatic hair and background chunks are off",
           "vgg": "the LPIPS loss is off (the L2 loss works without it)",
           "encoder": "Quick reconstruction is off"}


@dataclass(frozen=True)
class ModelInUse:
    """What one kind of model is now: which file, whether it loads, why not."""

    kind: str
    name: str  # what to call it: a manifest id, the own model's name, or the file's name
    origin: str  # DEFAULT, CHOSEN_ID, CHOSEN_FILE, OWN_MODEL or UNKNOWN
    usable: bool  # a file is there (a store entry: installed, right size)
    status: str  # one sentence for the user
    chosen: str | None = None  # the choice as given (None: the default)
    path: Path | None = None  # the file that is (or would be) loaded
    asset_id: str | None = None  # the manifest entry, also for a path to its installed file
    own_model: str | None = None  # the user's own model's name

    @property
    def installable(self) -> str | None:
        """The manifest id a download or import would make usable (None: none would)."""
        if self.usable or self.asset_id is None or self.origin not in (DEFAULT, CHOSEN_ID):
            return None
        return self.asset_id


def models_in_use(choice: ModelChoice, store: ModelStore,
                  kinds: tuple[str, ...] = SHOWN_KINDS) -> dict[str, ModelInUse]:
    """`model_in_use` for each of `kinds`, in that order."""
    return {kind: model_in_use(choice, store, kind) for kind in kinds}


def model_in_use(choice: ModelChoice, store: ModelStore, kind: str) -> ModelInUse:
    """What `choice` uses as its `kind` model in `store`'s folder."""
    chosen = getattr(choice, kind)
    chosen = chosen.strip() if isinstance(chosen, str) and chosen.strip() else None
    spec = chosen if chosen is not None or kind != "vgg" else DEFAULT_VGG  # as the provider
    try:
        path: Path | None = store.resolve(spec, kind)
    except SemeditError:  # the statuses below say why, in the app's words
        path = None
    if chosen is None:
        return _default(store, kind, path)
    if chosen in store.manifest.ids:
        return _chosen_id(store, kind, store.manifest.get(chosen), path)
    own = _user_models(store).get(chosen)
    if own is not None:
        return _own(kind, own, path)
    if path is not None or _looks_like_path(chosen) or Path(chosen).expanduser().exists():
        return _chosen_file(store, kind, chosen, path)
    return ModelInUse(kind, chosen, UNKNOWN, False, _sentence(
        f"'{chosen}' is neither a file nor a known model id", kind), chosen)


def _default(store: ModelStore, kind: str, path: Path | None) -> ModelInUse:
    asset = _default_asset(store, kind)
    if asset is None:
        return ModelInUse(kind, "none", DEFAULT, False, _sentence(
            f"No default {NOUNS[kind]} is listed", kind))
    where = f"{asset.id}, the default {NOUNS[kind]}"
    if path is not None:
        return ModelInUse(kind, asset.id, DEFAULT, True, f"{where}, is installed.",
                          path=path, asset_id=asset.id)
    return ModelInUse(kind, asset.id, DEFAULT, False,
                      _sentence(f"{where}, {_not_installed(store, asset)}", kind),
                      path=store.path(asset.id), asset_id=asset.id)


def _chosen_id(store: ModelStore, kind: str, asset: Asset, path: Path | None) -> ModelInUse:
    if asset.kind != kind:
        return ModelInUse(kind, asset.id, CHOSEN_ID, False, _sentence(
            f"{asset.id} is a {NOUNS.get(asset.kind, asset.kind)}, not a {NOUNS[kind]}",
            kind), asset.id)
    if path is not None:
        return ModelInUse(kind, asset.id, CHOSEN_ID, True, f"{asset.id} is chosen and "
                          "installed.", asset.id, path, asset.id)
    return ModelInUse(kind, asset.id, CHOSEN_ID, False, _sentence(
        f"{asset.id} is chosen but {_not_installed(store, asset)}", kind), asset.id,
        store.path(asset.id), asset.id)


def _own(kind: str, own: UserModel, path: Path | None) -> ModelInUse:
    if own.kind != kind:
        return ModelInUse(kind, own.name, OWN_MODEL, False, _sentence(
            f"Your model '{own.name}' is a {NOUNS.get(own.kind, own.kind)}, not a "
            f"{NOUNS[kind]}", kind), own.name, own.path, own_model=own.name)
    if path is None:
        return ModelInUse(kind, own.name, OWN_MODEL, False, _sentence(
            f"Your model '{own.name}' was {own.path}, which is not there any more", kind),
            own.name, own.path, own_model=own.name)
    moved = "" if path == own.path else f" (found by its checksum; it was {own.path})"
    return ModelInUse(kind, own.name, OWN_MODEL, True,
                      f"Your model '{own.name}' is used from {path}{moved}.", own.name, path,
                      own_model=own.name)


def _chosen_file(store: ModelStore, kind: str, chosen: str, path: Path | None) -> ModelInUse:
    given = Path(chosen).expanduser()
    asset = _installed_asset_at(store, kind, given) if path is not None else None
    if asset is not None:  # the path of a model the models folder holds
        return ModelInUse(kind, asset.id, CHOSEN_FILE, True,
                          f"{asset.id} is used, chosen as the file {given}.", chosen, given,
                          asset.id)
    if path is not None:
        return ModelInUse(kind, given.name, CHOSEN_FILE, True,
                          f"Your file {given} is used.", chosen, given)
    why = "is a folder, not a model file" if given.is_dir() else "is not there"
    return ModelInUse(kind, given.name, CHOSEN_FILE, False, _sentence(
        f"The file chosen as the {NOUNS[kind]}, {given}, {why}", kind), chosen, given)


def _default_asset(store: ModelStore, kind: str) -> Asset | None:
    if kind == "vgg" and DEFAULT_VGG in store.manifest.ids:
        return store.manifest.get(DEFAULT_VGG)  # the provider's default, as it loads it
    try:
        return store.manifest.default_for(kind)
    except SemeditError:
        return None


def _installed_asset_at(store: ModelStore, kind: str, path: Path) -> Asset | None:
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        return None
    for asset in store.manifest.of_kind(kind):
        if store.is_installed(asset.id) and store.path(asset.id).resolve() == resolved:
            return asset
    return None


def _not_installed(store: ModelStore, asset: Asset) -> str:
    state = store.status(asset.id).state
    if state == "wrong size":
        return "has the wrong size (damaged or cut short)"
    if state == "partial":
        return "is only partly downloaded"
    return "is not installed"


def _user_models(store: ModelStore) -> dict[str, UserModel]:
    try:
        return store.user_models()
    except SemeditError:  # an unreadable user_models.json: the model manager reports it
        return {}


def _sentence(problem: str, kind: str) -> str:
    return f"{problem}: {WITHOUT[kind]}."


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or Path(text).suffix.lower() in {".pkl", ".pth", ".pt"}


__all__ = ["CHOSEN_FILE", "CHOSEN_ID", "DEFAULT", "OWN_MODEL", "SHOWN_KINDS", "UNKNOWN",
           "ModelInUse", "model_in_use", "models_in_use"]
