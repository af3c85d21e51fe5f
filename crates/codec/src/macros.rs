//! Declarative helpers shared by the wire-code newtypes.

/// Declares associated constants on a `u32`/`u16` newtype together with the
/// lookup from value to spec name, so the table is written once.
macro_rules! wire_codes {
    (
        $ty:ident($int:ty) {
            $( $(#[$meta:meta])* $name:ident = $value:literal => $spec:literal, )*
        }
    ) => {
        impl $ty {
            $( $(#[$meta])* pub const $name: $ty = $ty($value); )*

            /// The name the SMPP specification gives this value, or `None` for a value
            /// the specification does not define (vendor-specific or reserved).
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($spec), )*
                    _ => None,
                }
            }

            /// Every value the specification defines, in table order.
            pub const ALL: &'static [$ty] = &[ $( $ty::$name, )* ];
        }

        impl ::std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self.name() {
                    Some(name) => write!(f, "{}({name})", stringify!($ty)),
                    None => write!(f, "{}({:#x})", stringify!($ty), self.0),
                }
            }
        }

        impl From<$int> for $ty {
            fn from(value: $int) -> Self {
                $ty(value)
            }
        }

        impl From<$ty> for $int {
            fn from(value: $ty) -> Self {
                value.0
            }
        }
    };
}

/// Read accessors shared by the field newtypes over a byte backing `B`.
macro_rules! bytes_accessors {
    ($what:literal) => {
        #[doc = concat!("The ", $what, ".")]
        pub fn as_bytes(&self) -> &[u8] {
            self.0.as_ref()
        }

        /// The backing handle: a [`Bytes`] sharing the frame's buffer, or a borrowed
        /// slice of it in a view.
        pub fn inner(&self) -> &B {
            &self.0
        }

        /// Unwraps the backing handle.
        pub fn into_inner(self) -> B {
            self.0
        }

        /// Length in bytes (on the wire, without the C-string terminator).
        pub fn len(&self) -> usize {
            self.0.as_ref().len()
        }

        /// Whether the value is empty.
        pub fn is_empty(&self) -> bool {
            self.0.as_ref().is_empty()
        }
    };
}

/// The [`Bytes`]-specific accessors of the owned field newtypes.
macro_rules! bytes_handles {
    ($what:literal) => {
        #[doc = concat!("The ", $what, " as a shared [`Bytes`] handle (no copy).")]
        pub fn bytes(&self) -> &Bytes {
            &self.0
        }

        #[doc = concat!("Unwraps the ", $what, ".")]
        pub fn into_bytes(self) -> Bytes {
            self.0
        }
    };
}

pub(crate) use {bytes_accessors, bytes_handles, wire_codes};
