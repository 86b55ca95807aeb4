"""What every node of the humanoid stack shares (no algorithms here: those live in each
package's ``core/``)."""
