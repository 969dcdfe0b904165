//! The motion classes and the shapes they move.

/// A motion class: what the shape does over the clip. The order is the label order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Motion {
    /// The shape moves from right to left.
    MovingLeft,
    /// The shape moves from left to right.
    MovingRight,
    /// The shape moves from bottom to top.
    MovingUp,
    /// The shape moves from top to bottom.
    MovingDown,
    /// The shape turns clockwise in place.
    RotatingClockwise,
    /// The shape gets bigger.
    Growing,
    /// The shape gets smaller.
    Shrinking,
    /// The shape appears and disappears periodically.
    Blinking,
    /// The shape turns counterclockwise in place.
    RotatingCounterclockwise,
    /// The shape moves towards the top-right corner.
    MovingUpRight,
    /// The shape moves towards the bottom-left corner.
    MovingDownLeft,
    /// The shape does not move.
    StandingStill,
}

impl Motion {
    /// Every class, in label order (the first 8 are the default dataset).
    pub const ALL: [Motion; 12] = [
        Motion::MovingLeft,
        Motion::MovingRight,
        Motion::MovingUp,
        Motion::MovingDown,
        Motion::RotatingClockwise,
        Motion::Growing,
        Motion::Shrinking,
        Motion::Blinking,
        Motion::RotatingCounterclockwise,
        Motion::MovingUpRight,
        Motion::MovingDownLeft,
        Motion::StandingStill,
    ];

    /// The readable class name used in the label map, e.g. `"moving left"`.
    pub fn name(self) -> &'static str {
        match self {
            Motion::MovingLeft => "moving left",
            Motion::MovingRight => "moving right",
            Motion::MovingUp => "moving up",
            Motion::MovingDown => "moving down",
            Motion::RotatingClockwise => "rotating clockwise",
            Motion::Growing => "growing",
            Motion::Shrinking => "shrinking",
            Motion::Blinking => "blinking",
            Motion::RotatingCounterclockwise => "rotating counterclockwise",
            Motion::MovingUpRight => "moving up and right",
            Motion::MovingDownLeft => "moving down and left",
            Motion::StandingStill => "standing still",
        }
    }

    /// The name with spaces replaced by underscores, for directory and file names.
    pub fn slug(self) -> String {
        self.name().replace(' ', "_")
    }

    /// Unit direction of travel in image coordinates (y down), or `None` if it stays put.
    pub fn direction(self) -> Option<(f32, f32)> {
        let d = std::f32::consts::FRAC_1_SQRT_2;
        match self {
            Motion::MovingLeft => Some((-1.0, 0.0)),
            Motion::MovingRight => Some((1.0, 0.0)),
            Motion::MovingUp => Some((0.0, -1.0)),
            Motion::MovingDown => Some((0.0, 1.0)),
            Motion::MovingUpRight => Some((d, -d)),
            Motion::MovingDownLeft => Some((-d, d)),
            _ => None,
        }
    }

    /// Rotation sense: +1 clockwise (on screen), -1 counterclockwise, 0 none.
    pub fn spin(self) -> f32 {
        match self {
            Motion::RotatingClockwise => 1.0,
            Motion::RotatingCounterclockwise => -1.0,
            _ => 0.0,
        }
    }
}

/// A shape drawn in a unit box `[-1, 1]^2` around its centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A filled circle.
    Disk,
    /// A filled square.
    Square,
    /// A filled triangle pointing up.
    Triangle,
    /// A long thin rectangle.
    Bar,
    /// A square standing on a corner.
    Diamond,
    /// A plus sign.
    Cross,
}

impl Shape {
    /// Every shape.
    pub const ALL: [Shape; 6] = [Shape::Disk, Shape::Square, Shape::Triangle, Shape::Bar, Shape::Diamond, Shape::Cross];

    /// Shapes whose rotation is visible and unambiguous over a small angle step.
    pub const ASYMMETRIC: [Shape; 2] = [Shape::Triangle, Shape::Bar];

    /// Whether the point `(u, v)` of the unit box is inside the shape.
    pub fn contains(self, u: f32, v: f32) -> bool {
        match self {
            Shape::Disk => u * u + v * v <= 1.0,
            Shape::Square => u.abs() <= 0.8 && v.abs() <= 0.8,
            // Apex at the top (v = -1), base at v = 0.7.
            Shape::Triangle => (-1.0..=0.7).contains(&v) && u.abs() <= (v + 1.0) * 0.55,
            Shape::Bar => u.abs() <= 1.0 && v.abs() <= 0.3,
            Shape::Diamond => u.abs() + v.abs() <= 1.0,
            Shape::Cross => (u.abs() <= 1.0 && v.abs() <= 0.3) || (u.abs() <= 0.3 && v.abs() <= 1.0),
        }
    }
}
