"""`semedit models list | download ID | verify [ID] | import ID FILE | add NAME FILE`."""

from __future__ import annotations

import argparse
import json

from core.commands.common import add_models_dir_argument, control_of, open_store
from core.commands.progress import ProgressBar
from core.errors import JobCancelled, ModelMissingError, SemeditError
from core.hashing import hash_file
from core.jobs import JobControl
from core.models import TABLE_COLUMNS
from core.models.store import ModelStore, UserModel, VerifyResult, user_model_probe


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("models", help="list, download, verify and import model files",
                                   description="Manage the model files SemEdit uses.")
    add_models_dir_argument(parser)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="every known model and whether it is installed")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=_list)

    download = actions.add_parser("download", help="download a model (resumes partial files)")
    download.add_argument("id", help="model id, see `semedit models list`")
    download.add_argument("--force", action="store_true", help="download even if installed")
    download.add_argument("--replace", action="store_true",
                          help="trust the new copy over a sha256 recorded earlier")
    download.set_defaults(handler=_download)

    verify = actions.add_parser("verify", help="check installed files against their hashes")
    verify.add_argument("id", nargs="?", help="model id or the name of one of your models "
                        "(default: every installed model and every model you added)")
    verify.add_argument("--json", action="store_true", help="print JSON results")
    verify.set_defaults(handler=_verify)

    importing = actions.add_parser("import", help="use a model file you already have")
    importing.add_argument("id", help="model id the file is")
    importing.add_argument("file", help="the file; it is copied after checking, never moved")
    importing.add_argument("--replace", action="store_true",
                           help="trust this file over a sha256 recorded earlier for the id")
    importing.set_defaults(handler=_import)

    adding = actions.add_parser("add", help="add a StyleGAN2 generator of your own by name",
                                description="Check FILE is a StyleGAN2 generator SemEdit can "
                                "run, show its architecture and make it usable as NAME "
                                "(--generator NAME, Preferences). The file stays where it is.")
    adding.add_argument("name", help="the name to use it by (lower-case, digits, . _ -)")
    adding.add_argument("file", help="an NVIDIA network pickle or a rosinality checkpoint")
    adding.add_argument("--replace", action="store_true",
                        help="point an existing name at this file")
    adding.set_defaults(handler=_add)


def _list(args: argparse.Namespace) -> int:
    store = open_store(args.models_dir)
    rows = [status.as_row() | {"path": str(status.path)} for status in store.list()]
    rows += [model.as_row() | {"path": str(model.path), "sha256": model.sha256,
                               "architecture": model.summary}
             for model in store.user_models().values()]
    if args.json:
        print(json.dumps({"models_dir": str(store.root), "models": rows}, indent=2))
        return 0
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in TABLE_COLUMNS}
    print("  ".join(c.upper().ljust(widths[c]) for c in TABLE_COLUMNS).rstrip())
    for row in rows:
        print("  ".join(row[c].ljust(widths[c]) for c in TABLE_COLUMNS).rstrip())
    print(f"\nModels folder: {store.root}")
    return 0


def _download(args: argparse.Namespace) -> int:
    store = open_store(args.models_dir)
    asset = store.manifest.get(args.id)
    bar = ProgressBar(f"Downloading {asset.id}")
    try:  # Ctrl-C stops the download through the control; the .part file stays
        jobs = store.download(asset.id, control_of(args), force=args.force,
                              replace=args.replace)
        while True:
            try:
                progress = next(jobs)
            except StopIteration as done:
                path = done.value
                break
            bar.update_bytes(progress.done_bytes, progress.total_bytes,
                             progress.bytes_per_second)
    except JobCancelled:
        raise JobCancelled(f"Download of {asset.id} stopped; run the same command again to "
                           "resume it.") from None
    finally:
        bar.close()
    print(f"{asset.id} is installed at {path}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    store = open_store(args.models_dir)
    control = control_of(args)
    users = store.user_models()
    if args.id:
        ids, names = ([], [args.id]) if args.id in users else ([args.id], [])
    else:
        ids, names = [s.asset.id for s in store.list() if s.exists], list(users)
        if not ids and not names:
            raise ModelMissingError("No model is installed yet; see `semedit models list`.")
    results = [store.verify(asset_id, control=control) for asset_id in ids]
    results += [verify_user_model(store, users[name], control=control) for name in names]
    if args.json:
        print(json.dumps([{"id": r.asset_id, "ok": r.ok, "sha256": r.sha256, "method": r.method,
                           "path": str(r.path), "message": r.message} for r in results],
                         indent=2))
    else:
        for r in results:
            print(("OK      " if r.ok else "FAILED  ") + r.message)
    return 0 if all(results) else 1


def verify_user_model(store: ModelStore, model: UserModel, *,
                      control: JobControl | None = None) -> VerifyResult:
    """Re-hash one of the user's own models (`models add`) and compare it with the sha256
    recorded when it was added, then read it with the loaders `models add` used."""
    path = model.path
    if not path.is_file():
        return VerifyResult(model.name, path, False, "", "sha256 recorded when added",
                            f"{path} is not there any more (your model '{model.name}'); add "
                            f"it again with `semedit models add {model.name} FILE --replace`.")
    methods, problems = ["sha256 recorded when added"], []
    try:
        sha256 = hash_file(path, control=control).sha256
    except OSError as error:
        return VerifyResult(model.name, path, False, "", methods[0],
                            f"{path} cannot be read: {error.strerror or error}.")
    if sha256 != model.sha256:
        problems.append(f"its sha256 {sha256[:12]}… differs from the one recorded when it was "
                        f"added ({model.sha256[:12]}…); if you replaced it on purpose, add it "
                        f"again with `semedit models add {model.name} FILE --replace`")
    elif store.validate is not None:
        probe = user_model_probe(model.name, model.kind, path)  # as `models add` checked it
        try:
            facts = store.validate(probe, path)
            methods.append(f"read as {probe.what_it_is()}")
            store.remember(path, sha256, facts)
        except SemeditError as error:
            problems.append(str(error).rstrip("."))
    method = " + ".join(methods)
    if problems:
        message = f"{path} fails its check ({method}): {'; '.join(problems)}."
    else:
        message = f"{path} is intact ({method})."
    return VerifyResult(model.name, path, not problems, sha256, method, message)


def _import(args: argparse.Namespace) -> int:
    store = open_store(args.models_dir)
    path = store.import_file(args.id, args.file, replace=args.replace,
                             control=control_of(args))
    entry = store.index.lookup(path)
    what = f"; it is {entry.summary}" if entry is not None and entry.summary else ""
    print(f"{args.id} is installed at {path} (checked{what}; {args.file} was left as it was)")
    return 0


def _add(args: argparse.Namespace) -> int:
    store = open_store(args.models_dir)
    model = store.add_user_model(args.name, args.file, replace=args.replace,
                                 control=control_of(args))
    print(f"{model.name} is {model.summary}, sha256 {model.sha256[:12]}…, at {model.path}. "
          f"Use it with --generator {model.name} or choose it in Preferences.")
    return 0
