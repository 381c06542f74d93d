"""A small deterministic z-buffer renderer in torch for the DC-IGN data (Kulkarni et al. 2015 §4.1).

``render`` draws grayscale Lambertian images of a triangle mesh under a chosen camera
azimuth/elevation and light direction, batched, on CPU or CUDA; ``load_mesh`` reads mesh
files with trimesh. Conventions (axes, angles, shading) are in
:mod:`genrepro.render.rasterize`.
"""

from genrepro.render.mesh import load_mesh, normalize_to_unit_sphere, vertex_normals
from genrepro.render.rasterize import light_direction, render, view_rotation

__all__ = [
           "light_direction",
           "load_mesh",
           "normalize_to_unit_sphere",
           "render",
           "vertex_normals",
           "view_rotation",
]
