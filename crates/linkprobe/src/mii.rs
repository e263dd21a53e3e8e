//! Pure interpretation of MII registers (no I/O), following keepalived's checks.
//!
//! The BMSR link-status bit (0x0004) is *latched low*: after a link failure it reads 0 until it
//! has been read once, even if the link came back. So the register is read twice: the first read
//! reports "was the link down at any time since the last read" and clears the latch; the second
//! read is the current state. keepalived reports up if *either* read has the bit; we use the
//! second (current) read, which differs only when the link dropped between the two reads (then
//! we say down at once, keepalived one poll later), and we expose the first read as
//! [`MiiReading::dropped_since_last_read`] so flaps shorter than the poll interval are visible.

/// MII register number of the basic mode control register.
pub const MII_BMCR: u16 = 0x00;
/// MII register number of the basic mode status register.
pub const MII_BMSR: u16 = 0x01;
/// BMSR bit: link status (latched low).
pub const BMSR_LSTATUS: u16 = 0x0004;

/// What the MII registers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MiiReading {
    /// Link up now (second BMSR read).
    pub link_up: bool,
    /// The latched bit was clear on the first read: the link dropped since the previous read.
    pub dropped_since_last_read: bool,
}

/// The registers show that no transceiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoTransceiver;

/// Interprets BMCR and two consecutive BMSR reads while polling a PHY already accepted by
/// [`mii_usable`].
///
/// BMCR 0xFFFF (an unanswered MDIO read floats high) means the transceiver is gone. A BMSR of 0
/// is plain "down" here: the bonding driver emulates MII and answers exactly 0 without carrier.
pub fn interpret_mii(
    bmcr: u16,
    bmsr_first: u16,
    bmsr_second: u16,
) -> Result<MiiReading, NoTransceiver> {
    if bmcr == 0xFFFF {
        return Err(NoTransceiver);
    }
    Ok(MiiReading {
        link_up: bmsr_second & BMSR_LSTATUS != 0,
        dropped_since_last_read: bmsr_first & BMSR_LSTATUS == 0,
    })
}

/// Whether MII may be chosen for an interface, judged at selection time as keepalived does:
/// BMCR 0xFFFF or a first BMSR of 0 (a real PHY always advertises capability bits) mean no
/// transceiver answers.
pub fn mii_usable(bmcr: u16, bmsr_first: u16) -> bool {
    bmcr != 0xFFFF && bmsr_first != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // Typical 100BASE-TX PHY capability bits with and without link.
    const BMSR_CAPS: u16 = 0x7809;
    const UP: u16 = BMSR_CAPS | BMSR_LSTATUS;
    const DOWN: u16 = BMSR_CAPS;

    #[test]
    fn steady_up_and_steady_down() {
        assert_eq!(
            interpret_mii(0x1000, UP, UP),
            Ok(MiiReading {
                link_up: true,
                dropped_since_last_read: false
            })
        );
        assert_eq!(
            interpret_mii(0x1000, DOWN, DOWN),
            Ok(MiiReading {
                link_up: false,
                dropped_since_last_read: true
            })
        );
    }

    #[test]
    fn latched_low_then_recovered_is_up_with_a_flap() {
        // Link failed and came back since the last poll: first read still latched low.
        assert_eq!(
            interpret_mii(0x1000, DOWN, UP),
            Ok(MiiReading {
                link_up: true,
                dropped_since_last_read: true
            })
        );
    }

    #[test]
    fn drop_between_the_two_reads_is_down_now() {
        assert_eq!(
            interpret_mii(0x1000, UP, DOWN),
            Ok(MiiReading {
                link_up: false,
                dropped_since_last_read: false
            })
        );
    }

    #[test]
    fn no_transceiver() {
        assert_eq!(interpret_mii(0xFFFF, UP, UP), Err(NoTransceiver));
        assert!(!mii_usable(0xFFFF, UP));
        assert!(!mii_usable(0x1000, 0));
        assert!(mii_usable(0x1000, DOWN));
    }

    #[test]
    fn bonding_emulation_without_carrier_is_down_not_an_error() {
        assert_eq!(
            interpret_mii(0, 0, 0),
            Ok(MiiReading {
                link_up: false,
                dropped_since_last_read: true
            })
        );
    }

    #[test]
    fn bonding_emulation_reports_only_the_link_bit() {
        // The bonding driver answers BMSR with just BMSR_LSTATUS when it has carrier; BMCR 0.
        assert_eq!(
            interpret_mii(0, BMSR_LSTATUS, BMSR_LSTATUS),
            Ok(MiiReading {
                link_up: true,
                dropped_since_last_read: false
            })
        );
    }
}
