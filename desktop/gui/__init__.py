"""The window: main window, token table model, dialogs, clipboard and the modal-answer seam."""
