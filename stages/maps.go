package stages

import "fmt"

// Free-form config mappings (KindMap) arrive as map[string]any; these turn
// them into typed values, naming the key of anything malformed.

func stringMap(m map[string]any, key string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range m {
		switch s := v.(type) {
		case string:
			out[k] = s
		case int, int64, float64, bool:
			out[k] = fmt.Sprint(s)
		default:
			return nil, fmt.Errorf("%s.%s: expected a text value, got %v", key, k, v)
		}
	}
	return out, nil
}

func stringLists(m map[string]any, key string) (map[string][]string, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := map[string][]string{}
	for k, v := range m {
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s.%s: expected a list of values", key, k)
		}
		for i, item := range list {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("%s.%s[%d]: expected text, got %v", key, k, i, item)
			}
			out[k] = append(out[k], s)
		}
	}
	return out, nil
}

func nestedFloats(m map[string]any, key string) (map[string]map[string]float64, error) {
	out := map[string]map[string]float64{}
	for attr, raw := range m {
		inner, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s.%s: expected a mapping of group to number", key, attr)
		}
		out[attr] = map[string]float64{}
		for g, v := range inner {
			x, ok := toFloat(v)
			if !ok {
				return nil, fmt.Errorf("%s.%s.%s: expected a number, got %v", key, attr, g, v)
			}
			out[attr][g] = x
		}
	}
	return out, nil
}
