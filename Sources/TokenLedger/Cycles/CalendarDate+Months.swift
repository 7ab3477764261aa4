extension CalendarDate {
    /// The date `months` calendar months later (earlier when negative), the day clamped to the
    /// target month's length (2025-03-31 minus one month is 2025-02-28), and to the accepted dates
    /// (0001-01-01 … 9999-12-31).
    func addingMonths(_ months: Int) -> CalendarDate {
        let index = year * 12 + (month - 1) + months
        if index < 12 { return CalendarDate(uncheckedYear: 1, month: 1, day: 1) }
        if index >= 10_000 * 12 { return CalendarDate(uncheckedYear: 9999, month: 12, day: 31) }
        let newYear = index >= 0 ? index / 12 : (index - 11) / 12
        let newMonth = index - newYear * 12 + 1
        return CalendarDate(
            uncheckedYear: newYear, month: newMonth,
            day: min(day, CalendarDate.daysInMonth(year: newYear, month: newMonth)))
    }
}
