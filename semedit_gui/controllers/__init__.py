"""The app's workflows as QObjects without widgets (unit-tested without a window):
the job registry, documents, inversion, hair transfer, selection and directions. Panels, dialogs and
the window are views that call these."""

from semedit_gui.controllers.directions import DirectionsController
from semedit_gui.controllers.documents import DocumentController
from semedit_gui.controllers.hair import HairController
from semedit_gui.controllers.inversion import InversionController
from semedit_gui.controllers.job_registry import JobRegistry
from semedit_gui.controllers.selection import SelectionController

__all__ = ["DirectionsController", "DocumentController", "HairController",
           "InversionController", "JobRegistry", "SelectionController"]
