extension Sequence {
    /// The elements' values grouped by `key`, the groups in the order their keys first appear;
    /// elements whose `value` is `nil` are left out.
    ///
    /// Made for the store's batches, a webservice's events mostly one after another: an element
    /// with the key of the one before costs a comparison, and a new key a scan of the few groups
    /// so far, where a dictionary hashed every element's key.
    func grouped<Value>(by key: (Element) -> String, value: (Element) -> Value?) -> [(key: String, values: [Value])] {
        var groups: [(key: String, values: [Value])] = []
        for element in self {
            guard let value = value(element) else { continue }
            let name = key(element)
            if let last = groups.indices.last, groups[last].key == name {
                groups[last].values.append(value)
            } else if let index = groups.firstIndex(where: { $0.key == name }) {
                groups[index].values.append(value)
            } else {
                groups.append((name, [value]))
            }
        }
        return groups
    }
}
