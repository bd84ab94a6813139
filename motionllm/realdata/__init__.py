"""Real human motion, imported as HumanML3D-format datasets: the measure of the models on people.

    motionllm data import bandai ../shared/data/real_mocap/bandai_namco_motion.tar.xz --out data/real/bandai
    motionllm data import cmu-prediction ../shared/data/real_mocap/cmu_motion_prediction.tar.xz --out data/real/cmu

Sources (`sources`): the Bandai-Namco Research Motion datasets 1 and 2 (BVH, CC BY-NC 4.0) and the CMU
motion-prediction subset (exponential maps of the CMU skeleton). Each file's own label (content and style,
or the CMU action) becomes structured action labels in the corpus's format (`labels`), with what the label
does not say measured from the motion where that is reliable (which hand waves, how fast a walk is, how far
a turn goes), and captions in HumanML3D style from the corpus's caption templates. The held-out splits
(`splits`) test generalisation: a content performed in a style no training clip combines it with, and whole
CMU trials. See docs/formats.md ("Real motion datasets").
"""
