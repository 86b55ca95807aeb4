"""MuJoCo simulation of a humanoid robot that offers the topics a real robot would."""
