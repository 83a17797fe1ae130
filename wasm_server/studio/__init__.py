"""``wasm-server studio``: write, build, try and deploy services from a browser.

The server side: the workspace and its safe paths (workspace.py), which build
commands run (buildpolicy.py), the bounded build queue (builds.py), compiler
diagnostics (diagnostics.py), zip export/import (archive.py), deploying through the
admin API (deploy.py), the HTTP API and the single-page app (api.py), and running it
(serve.py). docs/studio.md describes it.
"""

from .api import Guard, StudioApi
from .builds import Build, Builder, Event
from .deploy import Deployer
from .diagnostics import Diagnostic, parse
from .serve import StudioOptions
from .workspace import Service, StudioError, Workspace

__all__ = ["Build", "Builder", "Deployer", "Diagnostic", "Event", "Guard", "Service", "StudioApi", "StudioError",
           "StudioOptions", "Workspace", "parse"]
