/// A binary min-heap in an array: push and pop in O(log n), the smallest element first. Used where
/// many entries arrive and the least is taken each time (the byte-pair merger's pair ranks, the
/// server's deadlines). `@inlinable`, so callers in other modules get it specialized to their type.
public struct MinHeap<Element: Comparable> {
    @usableFromInline var elements: [Element] = []

    @inlinable public init() {}

    @inlinable public var isEmpty: Bool { elements.isEmpty }
    @inlinable public var count: Int { elements.count }
    /// The smallest element, left in place.
    @inlinable public var first: Element? { elements.first }

    @inlinable
    public mutating func push(_ element: Element) {
        elements.append(element)
        var child = elements.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard elements[child] < elements[parent] else { break }
            elements.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the smallest element.
    @inlinable
    public mutating func popMin() -> Element? {
        guard let last = elements.popLast() else { return nil }
        guard !elements.isEmpty else { return last }
        let top = elements[0]
        elements[0] = last
        siftDown(0)
        return top
    }

    /// Replaces the contents with what `fill` appends, keeping the array's capacity, then orders
    /// them in O(n): cheaper than pushing each.
    @inlinable
    public mutating func rebuild(_ fill: (inout [Element]) -> Void) {
        elements.removeAll(keepingCapacity: true)
        fill(&elements)
        heapify()
    }

    /// Drops the elements `shouldBeRemoved` names, then orders the rest in O(n).
    @inlinable
    public mutating func removeAll(where shouldBeRemoved: (Element) -> Bool) {
        elements.removeAll(where: shouldBeRemoved)
        heapify()
    }

    @inlinable
    mutating func heapify() {
        guard elements.count > 1 else { return }
        for index in stride(from: elements.count / 2 - 1, through: 0, by: -1) { siftDown(index) }
    }

    @inlinable
    mutating func siftDown(_ start: Int) {
        var parent = start
        let count = elements.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { return }
            let right = left + 1
            let smaller = right < count && elements[right] < elements[left] ? right : left
            guard elements[smaller] < elements[parent] else { return }
            elements.swapAt(smaller, parent)
            parent = smaller
        }
    }
}
