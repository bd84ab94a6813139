"""Motion-data core: the SMPL-22 skeleton, the HumanML3D representation, file formats, rendering."""
