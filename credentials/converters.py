from credentials.models import Slot


class SlotConverter:
    regex = "|".join(Slot.values)

    def to_python(self, value):
        return Slot(value)

    def to_url(self, value):
        return str(value)
