"""Node parameters, declared one way: typed by their default, described, ranged, read-only unless they may
change while the node runs.

    params = Parameters(node)
    params.declare("lead_in_speed", 1.0, "Peak joint speed (rad/s) of the lead-in", (0.05, 20.0),
                   live=lambda value: setattr(node, "_lead_in_speed", value))

- A number is the number it is: an integer given for a double parameter (`-p rate:=2` at start-up, or
  `ros2 param set /node rate -3` later) is taken as that double, so `-3` is refused as out of range with the
  range in the reason, not as a type error.
- A live parameter (`live=` a function of the new value) is applied after it is set; the others are
  read-only (a change is refused with "read-only"). Ranges are in the descriptors (`ros2 param describe`),
  and rclpy checks them before anything is applied.
"""
from __future__ import annotations

from typing import Callable

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType
from rclpy.node import Node
from rclpy.parameter import Parameter

KINDS = {bool: ParameterType.PARAMETER_BOOL, int: ParameterType.PARAMETER_INTEGER,
         float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING}


class Parameters:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.live: dict[str, Callable[[object], None]] = {}
        self.doubles: set[str] = set()
        self._declaring = False  # rclpy runs the set callbacks on declaration too: nothing to apply or log then
        node.add_pre_set_parameters_callback(self._as_declared)
        node.add_post_set_parameters_callback(self._apply)

    def declare(self, name: str, default, text: str, bounds: tuple | None = None,
                live: Callable[[object], None] | None = None, **descriptor) -> object:
        """Declare `name` with `default`'s type and return its value (the override, if one was given).
        bounds: (low, high) for a number."""
        kind = KINDS[type(default)]
        if bounds is not None and kind == ParameterType.PARAMETER_DOUBLE:
            descriptor["floating_point_range"] = [FloatingPointRange(from_value=float(bounds[0]),
                                                                     to_value=float(bounds[1]))]
        elif bounds is not None:
            descriptor["integer_range"] = [IntegerRange(from_value=int(bounds[0]), to_value=int(bounds[1]), step=1)]
        if kind == ParameterType.PARAMETER_DOUBLE:
            self.doubles.add(name)
            self._override_as_double(name)
        if live is not None:
            self.live[name] = live
        self._declaring = True
        try:
            self.node.declare_parameter(name, default, ParameterDescriptor(
                type=kind, description=text, read_only=live is None, **descriptor))
        finally:
            self._declaring = False
        return self.node.get_parameter(name).value

    def _override_as_double(self, name: str) -> None:
        # rclpy keeps the command line's values in _parameter_overrides (it has no public accessor): `rate:=2`
        # arrives as an integer, which declare_parameter would refuse for a double.
        overrides = getattr(self.node, "_parameter_overrides", {})
        given = overrides.get(name)
        if given is not None and given.type_ == Parameter.Type.INTEGER:
            overrides[name] = Parameter(name, Parameter.Type.DOUBLE, float(given.value))

    def _as_declared(self, parameters: list[Parameter]) -> list[Parameter]:
        return [Parameter(p.name, Parameter.Type.DOUBLE, float(p.value))
                if p.name in self.doubles and p.type_ == Parameter.Type.INTEGER else p for p in parameters]

    def _apply(self, parameters: list[Parameter]) -> None:
        if self._declaring:
            return
        for parameter in parameters:
            apply = self.live.get(parameter.name)
            if apply is not None:
                apply(parameter.value)
                self.node.get_logger().info(f"parameter {parameter.name} is now {parameter.value!r}")
