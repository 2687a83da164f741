"""The objects pages: a grid of object crops (boxes of detection tasks) with their parent image a
click away, and the crop images themselves (cached on disk, served only to who may see them)."""
